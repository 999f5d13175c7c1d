// Server-sent events. The generated hey-api client parses text/event-stream itself (`client.sse`,
// core/serverSentEvents.gen.ts: fetch-based, so it sends the API key, which EventSource cannot, and
// reconnects with Last-Event-ID); `Transport.stream` runs it. What it lacks lives here: a watchdog
// for connections that go silent, and the event shape `jobs.events` has always yielded.
import { APIConnectionError } from "./errors.ts";

/** An event of `jobs.events`: `data` is the event's data as text (JSON payloads re-serialised by the parser). */
export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

/** No bytes (not even a `: keep-alive` comment) arrived within the idle timeout. */
export class StreamIdleError extends Error {
  override name = "StreamIdleError";
}

/**
 * `body`, passed through chunk by chunk, erroring with StreamIdleError when no chunk arrives for
 * `idleMs` (when given) and with APIConnectionError when the connection breaks (a failure to read
 * is the connection's, never an answer: worth a reconnect). The source is cancelled on idle, on
 * `signal` (the stream's own, aborted when it ends) and when the reader cancels, so a stopped
 * stream closes its connection.
 */
export function watchBody(body: ReadableStream<Uint8Array>, idleMs: number | undefined, signal: AbortSignal): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", stop, { once: true });
  const read = () => {
    if (!idleMs) return reader.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StreamIdleError(`No data for ${idleMs} ms`)), idleMs);
    });
    return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        stop();
        controller.error(err instanceof StreamIdleError ? err : new APIConnectionError(`Event stream broke: ${(err as Error)?.message ?? err}`, { cause: err }));
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** The text form of an event's data: the generated parser hands over JSON payloads parsed. */
export function toServerSentEvent(ev: { event: string; data: unknown; id?: string }): ServerSentEvent {
  return { event: ev.event, data: typeof ev.data === "string" ? ev.data : JSON.stringify(ev.data), ...(ev.id !== undefined && { id: ev.id }) };
}
