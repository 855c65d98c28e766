// Sign in, sign up (its own form), forgotten password, the reset link and the email-verification link.
import { ApiError, api } from "../api";
import { plainMessage } from "../messages";
import { go, h, page, session } from "../shell";

function passwordField(id: string, label: string, autocomplete = "current-password"): [HTMLElement, HTMLInputElement] {
  const input = h("input", { id, type: "password", autocomplete, required: "" });
  const toggle = h("button", { type: "button", class: "link", "aria-controls": id, "aria-label": `show ${label.toLowerCase()}` }, "show");
  toggle.addEventListener("click", () => {
    const hidden = input.type === "password";
    input.type = hidden ? "text" : "password";
    toggle.textContent = hidden ? "hide" : "show";
    toggle.setAttribute("aria-label", `${hidden ? "hide" : "show"} ${label.toLowerCase()}`);
  });
  return [h("label", { for: id }, label, h("span", { class: "row" }, input, toggle)), input];
}

/** A line under a form: an error (red, announced at once) or a success (green). */
function notice(): { root: HTMLElement; error(text: string): void; ok(text: string): void; clear(): void } {
  const root = h("p", { role: "status", "aria-live": "polite", "data-testid": "form-message" });
  const set = (cls: string, text: string) => {
    root.className = cls;
    root.setAttribute("role", cls === "error" ? "alert" : "status");
    root.textContent = text;
  };
  return { root, error: (t) => set("error", t), ok: (t) => set("success", t), clear: () => set("", "") };
}

// The email typed on one form follows to the other.
let typedEmail = "";

function hero(): HTMLElement {
  return h(
    "section",
    { class: "hero" },
    h("h1", {}, "A PSLab you can reach from anywhere"),
    h(
      "p",
      {},
      "Run instrument calls, write Python scripts that build small apps with buttons and " +
        "plots, and watch live captures — on a real Pocket Science Lab or its emulator.",
    ),
  );
}

async function signInAndGo(email: string, password: string): Promise<void> {
  await api("/v1/auth/login", "POST", { email, password });
  await session.boot("/home"); // or the link opened while signed out (session.returnTo)
}

export function landing(): void {
  const email = h("input", { id: "email", type: "email", autocomplete: "email", required: "", value: typedEmail });
  email.addEventListener("input", () => (typedEmail = email.value));
  const [pwLabel, password] = passwordField("password", "Password");
  const message = notice();
  const signIn = h("button", { type: "submit" }, "Sign in");
  const forgot = h("button", { type: "button", class: "link" }, "Forgotten password?");
  // Shown when the lab requires a verified email and this one is not verified yet.
  const resend = h("button", { type: "button", class: "link", hidden: "" }, "Send the link again");
  const failed = (e: unknown): void => {
    message.error(plainMessage(e));
    resend.hidden = !(e instanceof ApiError && e.code === "email_not_verified");
  };
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title", novalidate: "" },
    h("h2", { id: "signin-title" }, "Sign in"),
    h("label", { for: "email" }, "Email", email),
    pwLabel,
    message.root,
    h("div", { class: "row wrap" }, signIn, forgot, resend),
    h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.clear();
    try {
      await signInAndGo(email.value, password.value);
    } catch (e) {
      failed(e);
    }
  });
  resend.addEventListener("click", async () => {
    try {
      const answer = await api("/v1/auth/resend-verification", "POST", { data: { email: email.value } });
      message.ok(answer.message);
    } catch (e) {
      message.error(plainMessage(e));
    }
  });
  forgot.addEventListener("click", async () => {
    message.clear();
    if (!email.value) {
      message.error("Type your email above first: the reset link goes there.");
      email.focus();
      return;
    }
    try {
      await api("/v1/auth/reset-password", "POST", { data: { email: email.value } });
      // The server's words are the Open Event server's; say it in ours.
      message.ok(`If ${email.value} has an account here, a reset link is on its way: check your inbox.`);
    } catch (e) {
      message.error(plainMessage(e));
    }
  });
  page(hero(), form);
}

/** Sign-up: its own form, with the password typed twice. */
export function signUp(): void {
  const email = h("input", { id: "email", type: "email", autocomplete: "email", required: "", value: typedEmail });
  email.addEventListener("input", () => (typedEmail = email.value));
  const [pwLabel, password] = passwordField("password", "Password", "new-password");
  const [confirmLabel, confirm] = passwordField("password-confirm", "Confirm password", "new-password");
  const message = notice();
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signup-title", novalidate: "" },
    h("h2", { id: "signup-title" }, "Create an account"),
    h("label", { for: "email" }, "Email", email),
    pwLabel,
    confirmLabel,
    message.root,
    h("div", { class: "row wrap" }, h("button", { type: "submit" }, "Create account")),
    h("p", {}, "Already have an account? ", h("a", { href: "#/signin" }, "Sign in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.clear();
    if (password.value !== confirm.value) {
      message.error("The two passwords differ: type the same password in both fields.");
      confirm.focus();
      return;
    }
    try {
      await api("/v1/users", "POST", { email: email.value, password: password.value });
    } catch (e) {
      return message.error(plainMessage(e));
    }
    try {
      await signInAndGo(email.value, password.value);
    } catch (e) {
      if (e instanceof ApiError && e.code === "email_not_verified") {
        message.ok(`Account created: open the link we mailed to ${email.value} to confirm your address, then sign in.`);
      } else {
        message.error(plainMessage(e));
      }
    }
  });
  page(hero(), form);
}

export function resetPassword(token: string): void {
  const [label, password] = passwordField("new-password", "New password", "new-password");
  const message = notice();
  const form = h("form", { class: "card narrow", "aria-labelledby": "reset-title" },
    h("h2", { id: "reset-title" }, "Choose a new password"), label, message.root,
    h("button", { type: "submit" }, "Set password"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/v1/auth/reset-password", "PATCH", { data: { token, password: password.value } });
      message.ok("Password changed: sign in with it.");
      setTimeout(() => go("/"), 800);
    } catch (e) {
      message.error(plainMessage(e));
    }
  });
  page(form);
}


// One request per token, however often the page is drawn (the boot may route twice).
const verifications = new Map<string, Promise<unknown>>();

export async function verifyEmail(token: string): Promise<void> {
  const status = h("p", { role: "status" }, "Confirming your email address…");
  const card = h("section", { class: "card narrow" }, h("h2", {}, "Confirm your email"), status);
  page(card);
  try {
    let verifying = verifications.get(token);
    if (!verifying) {
      verifying = api("/v1/auth/verify-email", "POST", { data: { token } });
      verifications.set(token, verifying);
    }
    await verifying;
    status.textContent = "Your email address is confirmed. Thank you!";
  } catch (e) {
    status.className = "error";
    status.textContent =
      e instanceof ApiError && e.status === 400
        ? "This link is not valid any more (used or expired). Sign in to ask for a new one."
        : plainMessage(e);
  }
  card.append(h("a", { href: session.me ? "#/home" : "#/" }, session.me ? "Home" : "Sign in"));
}
