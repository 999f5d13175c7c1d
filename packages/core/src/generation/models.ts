/** Which catalog entry a request's `model` names, and whether it fits the endpoint. */
import { ApiError } from "../errors.ts";
import type { Catalog, CatalogEntry, OperationKind } from "../pricing/catalog.ts";

export function resolveModel(catalog: Catalog, model: string, kind: OperationKind): CatalogEntry {
  const entry = catalog.byModel(model);
  if (!entry) {
    const known = catalog.list().filter((e) => e.kind === kind).map((e) => e.model);
    throw ApiError.badRequest("unknown_model", `Model ${model} is not in the catalog`, { field: "body.model", model, known_models: known });
  }
  if (entry.kind !== kind) {
    throw ApiError.badRequest("model_kind_mismatch", `Model ${model} is a ${entry.kind} model; this endpoint takes ${kind} models`, {
      field: "body.model",
      model,
      model_kind: entry.kind,
      endpoint_kind: kind,
    });
  }
  return entry;
}
