// Minimal text/event-stream parser over fetch's ReadableStream (WHATWG SSE rules), so the SDK
// needs no EventSource: EventSource can't send an Authorization header and isn't in Node 20.

export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

/** No bytes (not even a `: keep-alive` comment) arrived within the idle timeout. */
export class StreamIdleError extends Error {
  override name = "StreamIdleError";
}

export interface ParseSseOptions {
  signal?: AbortSignal | undefined;
  /** Give up (StreamIdleError) after this many ms without any bytes: catches half-open connections. */
  idleTimeoutMs?: number | undefined;
}

export async function* parseSse(stream: ReadableStream<Uint8Array>, opts: ParseSseOptions = {}): AsyncGenerator<ServerSentEvent> {
  const { signal, idleTimeoutMs } = opts;
  const reader = stream.getReader();
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  const read = () => {
    if (!idleTimeoutMs) return reader.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StreamIdleError(`No data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
    });
    return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
  };
  const decoder = new TextDecoder();
  let buf = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await read();
      if (signal?.aborted) throw signal.reason;
      finished = done;
      buf += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // Lines end in \n or \r\n (bare \r is legal but unused; ignoring it keeps a \r\n split across chunks safe).
      const lines = buf.split(/\r?\n/);
      // The last piece may be an incomplete line.
      buf = done ? "" : lines.pop()!;
      for (const line of lines) {
        if (line === "") {
          if (data.length) yield { event: event || "message", data: data.join("\n"), ...(id !== undefined && { id }) };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // comment / keep-alive
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
      if (done) return;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // Stopped early (consumer broke out, idle, abort): close the connection instead of leaking it.
    if (!finished) void reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
