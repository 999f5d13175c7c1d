import * as api from "../generated/sdk.gen.ts";
import type {
  ConfigureAutoRechargeData, ConfigureAutoRechargeResponse, GetCreditsResponse, GetWalletData,
  GetUsageData, GetUsageResponse, GetWalletResponse, TopUpWalletData, TopUpWalletResponse,
} from "../generated/types.gen.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

export class Wallet extends APIResource {
  /** `GET /v1/wallet`: balance and recent transactions. */
  get(query?: GetWalletData["query"], opts?: RequestOptions): Promise<GetWalletResponse> {
    return this.client.request(api.getWallet, { query }, opts);
  }

  /** `GET /v1/usage`: job counts and ledger spend over `[from, to)` (default 30 days), by day, model, key or type. */
  usage(query?: GetUsageData["query"], opts?: RequestOptions): Promise<GetUsageResponse> {
    return this.client.request(api.getUsage, { query }, opts);
  }

  /** `POST /v1/wallet/topup`: creates a Stripe PaymentIntent; the webhook credits the wallet. */
  topup(body: TopUpWalletData["body"], opts?: RequestOptions): Promise<TopUpWalletResponse> {
    return this.client.request(api.topUpWallet, { body }, opts);
  }

  /** `POST /v1/wallet/auto-recharge` */
  autoRecharge(body: ConfigureAutoRechargeData["body"], opts?: RequestOptions): Promise<ConfigureAutoRechargeResponse> {
    return this.client.request(api.configureAutoRecharge, { body }, opts);
  }
}

/** @deprecated use `wallet`. */
export class Credits extends APIResource {
  /** @deprecated `GET /v1/credits`; use `wallet.get()`. */
  get(opts?: RequestOptions): Promise<GetCreditsResponse> {
    return this.client.request(api.getCredits, {}, opts);
  }
}
