/** OAuth error codes (RFC 6749 §5.2 names) in AERIOX's Error shape. */
import { ApiError } from "../../errors.ts";

export type OAuthErrorCode = "invalid_request" | "invalid_grant" | "invalid_client" | "unsupported_grant_type" | "invalid_scope";

/** Token-endpoint errors are never cached (RFC 6749 §5.1). */
export function oauthError(code: OAuthErrorCode, message: string): ApiError {
  return new ApiError(400, code, message, undefined, { "cache-control": "no-store", pragma: "no-cache" });
}
