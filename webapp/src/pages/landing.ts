// Sign in, sign up, forgotten password, the reset link and the email-verification link.
import { ApiError, api } from "../api";
import { errorBox, go, h, page, session } from "../shell";

function passwordField(id: string, label: string): [HTMLElement, HTMLInputElement] {
  const input = h("input", { id, type: "password", autocomplete: "current-password", required: "" });
  const toggle = h("button", { type: "button", class: "link", "aria-controls": id }, "show");
  toggle.addEventListener("click", () => {
    const hidden = input.type === "password";
    input.type = hidden ? "text" : "password";
    toggle.textContent = hidden ? "hide" : "show";
  });
  return [h("label", { for: id }, label, h("span", { class: "row" }, input, toggle)), input];
}

export function landing(): void {
  const email = h("input", { id: "email", type: "email", autocomplete: "email", required: "" });
  const [pwLabel, password] = passwordField("password", "Password");
  const error = errorBox();
  const signIn = h("button", { type: "submit" }, "Sign in");
  const signUp = h("button", { type: "button", class: "secondary" }, "Create account");
  const forgot = h("button", { type: "button", class: "link" }, "Forgotten password?");
  // Shown when the lab requires a verified email and this one is not verified yet.
  const resend = h("button", { type: "button", class: "link", hidden: "" }, "Send the link again");
  const failed = (e: unknown): void => {
    error.textContent = (e as Error).message;
    resend.hidden = !(e instanceof ApiError && e.code === "email_not_verified");
  };
  const form = h(
    "form",
    { class: "card narrow", "aria-label": "Sign in" },
    h("h2", {}, "Sign in"),
    h("label", { for: "email" }, "Email", email),
    pwLabel,
    error,
    h("div", { class: "row" }, signIn, signUp, forgot, resend),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await api("/v1/auth/login", "POST", { email: email.value, password: password.value });
      await session.boot("/home");
    } catch (e) {
      failed(e);
    }
  });
  signUp.addEventListener("click", async () => {
    error.textContent = "";
    try {
      await api("/v1/users", "POST", { email: email.value, password: password.value });
    } catch (e) {
      return failed(e);
    }
    try {
      await api("/v1/auth/login", "POST", { email: email.value, password: password.value });
      await session.boot("/home");
    } catch (e) {
      failed(e);
      if (resend.hidden) return;
      error.textContent = `Account created: open the link we mailed to ${email.value} to confirm your address.`;
    }
  });
  resend.addEventListener("click", async () => {
    try {
      const answer = await api("/v1/auth/resend-verification", "POST", { data: { email: email.value } });
      error.textContent = answer.message;
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  });
  forgot.addEventListener("click", async () => {
    error.textContent = "";
    try {
      const answer = await api("/v1/auth/reset-password", "POST", { data: { email: email.value } });
      error.textContent = answer.message;
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  });
  page(
    h(
      "section",
      { class: "hero" },
      h("h1", {}, "A PSLab you can reach from anywhere"),
      h(
        "p",
        {},
        "Run instrument calls, write Python scripts that build small apps with buttons and " +
          "plots, and watch live captures — on a real Pocket Science Lab or its emulator.",
      ),
    ),
    form,
  );
}

export function resetPassword(token: string): void {
  const [label, password] = passwordField("new-password", "New password");
  const error = errorBox();
  const form = h("form", { class: "card narrow" }, h("h2", {}, "Choose a new password"), label, error,
    h("button", { type: "submit" }, "Set password"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/v1/auth/reset-password", "PATCH", { data: { token, password: password.value } });
      error.textContent = "Password changed: sign in with it.";
      setTimeout(() => go("/"), 800);
    } catch (e) {
      error.textContent = (e as Error).message;
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
        : (e as Error).message;
  }
  card.append(h("a", { href: session.me ? "#/home" : "#/" }, session.me ? "Home" : "Sign in"));
}
