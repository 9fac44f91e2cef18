// Sign-in with a token: a tenant's admin token, a rep's token, or the
// platform token. The server answers with a session cookie (HttpOnly) and
// the CSRF token the other requests send.
import { post } from "../api.js";
import { h, notice } from "../dom.js";

export function render({ signedIn }) {
  const token = h("input", { type: "password", name: "token", autocomplete: "current-password",
    placeholder: "token", required: true, autofocus: true });
  const status = h("p.status");
  const form = h("form.signin", {
    onsubmit: async (e) => {
      e.preventDefault();
      notice(status, null, null, "Signing in…");
      try {
        signedIn(await post("session", { token: token.value.trim() }));
      } catch (err) {
        notice(status, err.status === 401 || err.status === 403
          ? new Error("That token does not open the studio. Check it and try again.") : err);
      }
    },
  },
  h("h1", "flowhost studio"),
  h("p", "Sign in with your tenant's admin token, your rep token, or the platform token."),
  h("label", "Token ", token),
  h("button.primary", { type: "submit" }, "Sign in"),
  status);
  return form;
}
