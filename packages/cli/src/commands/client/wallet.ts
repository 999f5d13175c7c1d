/** `aeriox balance | topup | auto-recharge`: the calling workspace's wallet over the API (GET/POST /v1/wallet…). */
import type { Command } from "@commander-js/extra-typings";
import { UsageError } from "../../output.ts";
import { action, clientCall, clientCommand, keyValues, makeClient, output, parseInteger, parsePositive, table, usd } from "./common.ts";

export function registerWallet(program: Command): void {
  clientCall(
    program
      .command("balance")
      .description("Wallet balance and recent transactions (GET /v1/wallet)")
      .option("-n, --limit <n>", "number of recent transactions"),
    (client, flags) => client.wallet.get(flags.limit !== undefined ? { limit: parseInteger(flags.limit, "--limit", 1) } : undefined),
    (w) =>
      [
        keyValues({ available: usd(w.balance.available_usd), reserved: usd(w.balance.reserved_usd), total: usd(w.balance.total_usd) }),
        "",
        table(w.recent_transactions, ["created_at", "kind", "amount_usd", "job_id"]),
      ].join("\n"),
  );

  clientCall(
    program
      .command("topup")
      .description("Start a wallet top-up: creates a Stripe PaymentIntent (POST /v1/wallet/topup)")
      .requiredOption("--amount <usd>", "amount in USD (5-1000)")
      .option("--payment-method <id>", "saved Stripe payment method"),
    (client, flags) => client.wallet.topup({ amount_usd: parsePositive(flags.amount, "--amount"), ...(flags.paymentMethod && { payment_method_id: flags.paymentMethod }) }),
    (res) => keyValues(res),
  );

  clientCommand(
    program
      .command("auto-recharge")
      .description("Configure or clear wallet auto-recharge (POST /v1/wallet/auto-recharge)")
      .option("--disable", "turn auto-recharge off")
      .option("--threshold <usd>", "recharge when the balance falls below this")
      .option("--amount <usd>", "amount to add each time")
      .option("--payment-method <id>", "saved Stripe payment method"),
  ).action(
    action(async (flags) => {
      let body: Parameters<ReturnType<typeof makeClient>["wallet"]["autoRecharge"]>[0];
      if (flags.disable) body = { enabled: false };
      else {
        if (!flags.threshold || !flags.amount || !flags.paymentMethod) throw new UsageError("auto-recharge needs --threshold, --amount and --payment-method (or --disable)");
        body = { enabled: true, threshold_usd: parsePositive(flags.threshold, "--threshold"), amount_usd: parsePositive(flags.amount, "--amount"), stripe_payment_method_id: flags.paymentMethod };
      }
      const res = await makeClient(flags).wallet.autoRecharge(body);
      output(flags, res, () => keyValues(res));
    }),
  );
}
