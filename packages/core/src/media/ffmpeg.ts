/**
 * Running the bundled static ffmpeg (4.1, from @ffmpeg-installer/ffmpeg) as a child
 * process: wall-clock timeout, kill on abort, optional output-size cap, progress.
 * There is no ffprobe in the package: `probeMedia` parses `ffmpeg -i` stderr.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs/promises";
import { ProviderError, abortedError } from "../providers/errors.ts";

const require = createRequire(import.meta.url);

let configuredPath: string | undefined;
let bundledPath: string | undefined;

/**
 * The binary config's FFMPEG_PATH names, set once by the runtime (createRuntime): one binary per
 * process, as every ffmpeg call of the process is the same program. Undefined: the bundled one.
 */
export function useFfmpegBinary(path: string | undefined): void {
  configuredPath = path;
}

/** Absolute path of the ffmpeg binary: FFMPEG_PATH (through config), else the bundled static build. */
export function ffmpegPath(): string {
  if (configuredPath) return configuredPath;
  bundledPath ??= (require("@ffmpeg-installer/ffmpeg") as { path: string }).path;
  return bundledPath;
}

export interface RunFfmpegOptions {
  signal?: AbortSignal;
  /** Wall-clock limit; the process is SIGKILLed after it. */
  timeoutMs: number;
  /** Called with seconds of output written so far (needs `-progress pipe:1` in args, added here). */
  onProgress?: (outTimeS: number) => void;
  /** Output file to watch: the process is killed once it grows past maxOutputBytes. */
  outputFile?: string;
  maxOutputBytes?: number;
  /** Exit codes besides 0 that still count as success (probing exits 1). */
  okExitCodes?: number[];
}

const STDERR_KEEP = 16 * 1024;

/** Runs ffmpeg; resolves with its stderr (last 16 KiB) on exit 0, otherwise throws ProviderError. */
export function runFfmpeg(args: string[], options: RunFfmpegOptions): Promise<string> {
  if (options.signal?.aborted) return Promise.reject(abortedError(options.signal));
  const fullArgs = ["-hide_banner", "-nostdin", "-y", ...(options.onProgress ? ["-progress", "pipe:1", "-nostats"] : []), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath(), fullArgs, { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdoutBuf = "";
    let failure: ProviderError | null = null;
    const kill = (why: ProviderError) => {
      failure ??= why;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(
      () => kill(new ProviderError("timeout", `ffmpeg exceeded its ${options.timeoutMs} ms limit`, { retryable: false, code: "media_timeout" })),
      options.timeoutMs,
    );
    const onAbort = () => kill(abortedError(options.signal!));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const sizeWatch =
      options.outputFile && options.maxOutputBytes
        ? setInterval(() => {
            fs.stat(options.outputFile!).then(
              (st) => {
                if (st.size > options.maxOutputBytes!) {
                  kill(new ProviderError("client", `Output exceeds the ${options.maxOutputBytes} byte limit`, { code: "output_too_large" }));
                }
              },
              () => undefined,
            );
          }, 100)
        : undefined;

    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP);
    });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      if (!options.onProgress) return;
      stdoutBuf += chunk;
      const lines = stdoutBuf.split("\n");
      stdoutBuf = lines.pop() ?? "";
      for (const line of lines) {
        // out_time_ms is in microseconds despite its name (ffmpeg quirk).
        const m = /^out_time_ms=(\d+)/.exec(line);
        if (m) options.onProgress(Number(m[1]) / 1_000_000);
      }
    });
    child.on("error", (err) => kill(new ProviderError("unavailable", `ffmpeg could not start: ${err.message}`, { cause: err, code: "media_unavailable" })));
    child.on("close", (code) => {
      clearTimeout(timer);
      if (sizeWatch) clearInterval(sizeWatch);
      options.signal?.removeEventListener("abort", onAbort);
      if (failure) return reject(failure);
      if (code === 0 || (code !== null && options.okExitCodes?.includes(code))) {
        if (!options.outputFile || !options.maxOutputBytes) return resolve(stderr);
        // With `-fs` ffmpeg stops at the cap and exits 0: an output at the cap was cut short.
        return void fs.stat(options.outputFile).then(
          (st) =>
            st.size >= options.maxOutputBytes!
              ? reject(new ProviderError("client", `Output exceeds the ${options.maxOutputBytes} byte limit`, { code: "output_too_large" }))
              : resolve(stderr),
          () => resolve(stderr),
        );
      }
      const lastLines = stderr.trim().split("\n").slice(-3).join(" | ");
      reject(new ProviderError("client", `ffmpeg failed (exit ${code}): ${lastLines}`, { providerMessage: lastLines, code: "media_processing_failed" }));
    });
  });
}

export interface MediaInfo {
  durationS: number | null;
  width: number | null;
  height: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  format: string | null;
}

/** `ffmpeg -i file` exits 1 (no output given) but prints what we need on stderr. */
export async function probeMedia(file: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<MediaInfo> {
  const stderr = await runFfmpeg(["-i", file], { timeoutMs: options.timeoutMs ?? 15_000, okExitCodes: [1], ...(options.signal ? { signal: options.signal } : {}) });
  return parseProbe(stderr);
}

export function parseProbe(stderr: string): MediaInfo {
  const dur = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  const video = /Stream #\S+.*?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})/.exec(stderr);
  const audio = /Stream #\S+.*?: Audio: (\w+)/.exec(stderr);
  const format = /Input #0, ([^,]+(?:,[^,\s]+)*), from/.exec(stderr);
  return {
    durationS: dur ? Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]) : null,
    width: video ? Number(video[2]) : null,
    height: video ? Number(video[3]) : null,
    videoCodec: video ? video[1]! : null,
    audioCodec: audio ? audio[1]! : null,
    format: format ? format[1]! : null,
  };
}
