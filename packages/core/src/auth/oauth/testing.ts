/**
 * For tests of other packages (the server's OAuth tests craft and verify JWTs): jose,
 * resolved from core, which owns the dependency.
 */
export * as jose from "jose";
