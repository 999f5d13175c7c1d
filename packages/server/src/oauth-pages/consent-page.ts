/**
 * The OAuth consent page: small, self-contained HTML (inline CSS, no scripts, no
 * external assets), readable without styles and usable with a keyboard and a screen
 * reader (labels, fieldset/legend, one h1, sufficient contrast).
 */
import type { ConsentView } from "@aeriox/core/auth";

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const CSS = `
  :root { color-scheme: light dark; }
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; background: #f4f4f6; color: #1b1b1f; }
  main { max-width: 32rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 12px; box-shadow: 0 1px 4px rgb(0 0 0 / 12%); }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  ul { padding-left: 1.2rem; }
  li { margin: .4rem 0; }
  code { font-size: .9em; word-break: break-all; }
  label { display: block; font-weight: 600; margin: 1.2rem 0 .3rem; }
  input[type=password] { width: 100%; box-sizing: border-box; padding: .6rem; font: inherit; border: 1px solid #8a8a93; border-radius: 6px; }
  .hint { font-size: .9rem; color: #4a4a55; }
  .actions { display: flex; gap: .8rem; margin-top: 1.5rem; }
  button { font: inherit; padding: .6rem 1.4rem; border-radius: 6px; border: 1px solid #1b1b1f; cursor: pointer; }
  button[value=approve] { background: #2d3edb; border-color: #2d3edb; color: #fff; }
  button[value=deny] { background: transparent; color: inherit; }
  button:focus-visible, input:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
  @media (prefers-color-scheme: dark) {
    body { background: #111114; color: #ececf1; }
    main { background: #1c1c21; }
    .hint { color: #b4b4c0; }
    input[type=password] { background: #111114; color: inherit; }
    button[value=deny] { border-color: #ececf1; }
  }
`;

export function renderConsentPage(view: ConsentView): string {
  const scopes = view.scopes.map((s) => `<li><strong>${escapeHtml(s.scope)}</strong>: ${escapeHtml(s.description)}</li>`).join("\n        ");
  const name = escapeHtml(view.clientName);
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>Authorize ${name} – AERIOX</title>
  <style>${CSS}</style>
</head>
<body>
  <main>
    <h1>Authorize <span id="client-name">${name}</span></h1>
    <p><strong>${name}</strong> wants access to your AERIOX workspace. If you approve, it will be able to:</p>
    <ul id="scopes">
        ${scopes}
    </ul>
    <p class="hint">After your decision you will be sent back to <code>${escapeHtml(view.redirectUri)}</code>. You can revoke access at any time.</p>
    <form method="post" action="/v1/oauth/consent">
      <input type="hidden" name="request" value="${escapeHtml(view.requestId)}">
      <input type="hidden" name="csrf_token" value="${escapeHtml(view.csrfToken)}">
      <label for="api_key">API key of the workspace</label>
      <input id="api_key" name="api_key" type="password" required autocomplete="off" spellcheck="false" aria-describedby="api_key_hint" placeholder="sk_live_…">
      <p id="api_key_hint" class="hint">To prove you own the workspace, enter one of its API keys with the <strong>admin</strong> scope. The key is only checked, never stored or shared with ${name}; access is granted to that key's workspace.</p>
      <div class="actions">
        <button type="submit" name="decision" value="approve">Approve</button>
        <button type="submit" name="decision" value="deny">Deny</button>
      </div>
    </form>
  </main>
</body>
</html>
`;
}
