// Sign-in with a token: a tenant's admin token, a rep's token, or the
// platform token, and the name the history shows as the author. The server answers with a session cookie (HttpOnly) and
// the CSRF token the other requests send.
import { post } from "../api.js";
import { h, notice } from "../dom.js";

export function render({ signedIn }) {
  const token = h("input", { type: "password", name: "token", autocomplete: "current-password",
    placeholder: "token", required: true, autofocus: true });
  const name = h("input", { type: "text", name: "name", autocomplete: "name", placeholder: "shown as the author of your changes" });
  const status = h("p.status");
  const form = h("form.signin", {
    onsubmit: async (e) => {
      e.preventDefault();
      notice(status, null, null, "Signing in…");
      try {
        signedIn(await post("session", { token: token.value.trim(), name: name.value.trim() || undefined }));
      } catch (err) {
        notice(status, err.status === 401 || err.status === 403
          ? new Error("That token does not open the studio. Check it and try again.") : err);
      }
    },
  },
  h("h1", "flowhost studio"),
  h("p", "Sign in with your tenant's admin token, your rep token, or the platform token."),
  h("label", "Token ", token),
  h("label", "Your name ", name),
  h("button.primary", { type: "submit" }, "Sign in"),
  status);
  return form;
}
