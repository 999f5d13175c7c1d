// Type tests of the SDK's seam: each `@ts-expect-error` line must fail to compile, each expectTypeOf
// must hold. Checked by `tsc` (`pnpm typecheck`: this package's tsconfig includes test/), never run
// (vitest runs test/**/*.test.ts only). If the seam loses its typing (`(options: any)`), every
// `@ts-expect-error` below becomes unused and `tsc` fails.
import { expectTypeOf } from "vitest";
import * as api from "../src/generated/sdk.gen.ts";
import {
  Aeriox, PagePromise, type ComposeVideoResponse, type Job, type ListJobsResponse, type OperationInput, type OperationResult,
  type ServerSentEvent, type StreamedEvent,
} from "../src/index.ts";

declare const client: Aeriox;

export function wrongCallsFailToCompile() {
  // @ts-expect-error a wrong path key (the spec's is `id`)
  void client.request(api.cancelJob, { path: { idx: "job" } });
  // @ts-expect-error a missing required path
  void client.request(api.cancelJob, {});
  // @ts-expect-error a wrong path value type
  void client.request(api.getJob, { path: { id: 42 } });
  // @ts-expect-error a body field the spec does not have
  void client.request(api.generateImage, { body: { model: "local/image", prompt: "fox", promt: "typo" } });
  // @ts-expect-error a body field of the wrong type
  void client.request(api.generateImage, { body: { model: "local/image", prompt: 42 } });
  // @ts-expect-error a body missing a required field
  void client.request(api.generateImage, { body: { model: "local/image" } });
  // @ts-expect-error a body where the operation takes none
  void client.request(api.getJob, { path: { id: "job" }, body: { id: "job" } });
  // @ts-expect-error a query value of the wrong type
  void client.request(api.listJobs, { query: { limit: "10" } });
  // @ts-expect-error a query value outside the spec's enum
  void client.request(api.listJobs, { query: { status: "done" } });
  // @ts-expect-error a query key the spec does not have
  void client.request(api.listJobs, { query: { page: 2 } });
  // @ts-expect-error options that belong to the sender, not to the call
  void client.request(api.getMe, { throwOnError: false });
  // @ts-expect-error an event stream is not a request/response operation
  void client.request(api.streamJobEvents, { path: { id: "job" } });
  // @ts-expect-error a wrong path key on the event stream
  void client.transport.stream(api.streamJobEvents, { path: { job: "job" } });
  // @ts-expect-error a request/response operation is not an event stream
  void client.transport.stream(api.getJob, { path: { id: "job" } });
}

export function resultsAreTheSpecs() {
  expectTypeOf(client.request(api.getJob, { path: { id: "job" } })).resolves.toEqualTypeOf<Job>();
  expectTypeOf(client.request(api.listJobs, { query: { limit: 10, status: "running" } })).resolves.toEqualTypeOf<ListJobsResponse>();
  expectTypeOf(client.request(api.composeVideo, { body: { segments: [] } })).resolves.toEqualTypeOf<ComposeVideoResponse>();
  expectTypeOf<OperationResult<typeof api.cancelJob>>().toEqualTypeOf<Job>();
  expectTypeOf<OperationInput<typeof api.cancelJob>["path"]>().toEqualTypeOf<{ id: string }>();
  expectTypeOf<OperationInput<typeof api.listJobs>>().toHaveProperty("query");
  expectTypeOf(client.transport.stream(api.streamJobEvents, { path: { id: "job" } })).toEqualTypeOf<AsyncGenerator<StreamedEvent>>();
}

export function publicApiKeepsItsShape() {
  expectTypeOf(client.jobs.get).returns.resolves.toEqualTypeOf<Job>();
  expectTypeOf(client.jobs.list).returns.toEqualTypeOf<PagePromise<ListJobsResponse, Job, NonNullable<Parameters<typeof client.jobs.list>[0]>>>();
  expectTypeOf(client.jobs.events).returns.toEqualTypeOf<AsyncGenerator<ServerSentEvent>>();
  expectTypeOf(client.jobs.wait).returns.resolves.toEqualTypeOf<Job>();
  // @ts-expect-error resource methods take the spec's body too
  void client.images.generate({ model: "local/image", prompt: "fox", size: "huge" });
}
