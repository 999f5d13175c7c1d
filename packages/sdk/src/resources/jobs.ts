import * as api from "../generated/sdk.gen.ts";
import type { CancelJobResponse, GetJobResponse, Job, ListJobsData, ListJobsResponse } from "../generated/types.gen.ts";
import { nextByCursor, PagePromise } from "../pagination.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";
import { waitForJob, type WaitOptions } from "../wait.ts";
import { toServerSentEvent, type ServerSentEvent } from "../sse.ts";

type ListQuery = NonNullable<ListJobsData["query"]>;

export class Jobs extends APIResource {
  /**
   * `GET /v1/jobs`: the workspace's jobs, newest first, filtered by status, type, model, key and
   * creation time. `await` for one page, `for await` for every job (follows `next_cursor`).
   */
  list(query: ListQuery = {}, opts?: RequestOptions): PagePromise<ListJobsResponse, Job, ListQuery> {
    return new PagePromise(
      (q) => this.client.request(api.listJobs, { query: q }, opts),
      query,
      (page) => page.data,
      nextByCursor,
    );
  }

  /** `GET /v1/jobs/{id}` */
  get(id: string, opts?: RequestOptions): Promise<GetJobResponse> {
    return this.client.request(api.getJob, { path: { id } }, opts);
  }

  /** `DELETE /v1/jobs/{id}`: cancels and refunds the reservation; 409 (ConflictError) if already terminal. */
  cancel(id: string, opts?: RequestOptions): Promise<CancelJobResponse> {
    return this.client.request(api.cancelJob, { path: { id } }, opts);
  }

  /**
   * Resolves with the completed job; rejects with JobFailedError (failed/cancelled/nsfw_blocked),
   * APITimeoutError (deadline) or the abort reason (signal). See WaitOptions.
   */
  wait(id: string, opts?: WaitOptions): Promise<Job> {
    return waitForJob(this.client, id, opts);
  }

  /**
   * `GET /v1/jobs/{id}/events`: the raw server-sent events of a job, for custom consumers. A dropped
   * connection (or a 429/5xx) is retried up to `maxRetries` times, resuming with `Last-Event-ID`.
   */
  async *events(id: string, opts: RequestOptions = {}): AsyncGenerator<ServerSentEvent> {
    for await (const ev of this.client.transport.stream(api.streamJobEvents, { path: { id } }, opts)) yield toServerSentEvent(ev);
  }
}
