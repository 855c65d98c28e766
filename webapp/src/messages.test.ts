// Plain-language errors from the API's validation details.
import { ApiError, api } from "./api";
import { fieldLabel, plainMessage, plainProblem, plainText } from "./messages";

const invalid = (problems: { field: string; problem: string }[]) =>
  plainText(400, "invalid request: ...", { problems });

afterEach(() => vi.unstubAllGlobals());

test("validator text becomes a sentence naming the field", () => {
  expect(plainProblem("email", "String should have at least 3 characters")).toBe(
    "Email must be at least 3 characters.",
  );
  expect(plainProblem("data.email", "Field required")).toBe("Email is required.");
  expect(plainProblem("limit", "Input should be greater than or equal to 1")).toBe("Limit must be at least 1.");
  expect(plainProblem("title", "Input should be a valid string")).toBe("Title must be text.");
  expect(plainProblem("x", "something new")).toBe("X is not valid.");
});

test("field labels", () => {
  expect(fieldLabel("data.new-password")).toBe("New password");
  expect(fieldLabel("max_items")).toBe("Max items");
  expect(fieldLabel("")).toBe("The request");
});

test("the validator's words never reach people", () => {
  const message = invalid([{ field: "email", problem: "String should have at least 3 characters" }]);
  expect(message).toBe("Email must be at least 3 characters.");
  expect(message).not.toMatch(/String should/);
  expect(plainText(400, "Password should have minimum 8 characters")).toBe(
    "Password must be at least 8 characters.",
  );
  expect(plainText(401, "Invalid Credentials")).toBe("Wrong email or password.");
  expect(plainText(429, "slow down", { retry_after: 2.2 })).toBe("Too many tries: wait 3 s and try again.");
  expect(plainText(400, "Line 2: expected ':'")).toBe("Line 2: expected ':'"); // not ours to reword
  expect(plainMessage(new TypeError("Failed to fetch"))).toMatch(/cannot be reached/);
  expect(plainMessage(new Error("email taken"))).toBe("email taken");
});

test("api() raises errors already in plain words, keeping the server's text", async () => {
  const body = {
    error: "invalid request: email: String should have at least 3 characters",
    code: "invalid_request",
    details: { problems: [{ field: "email", problem: "String should have at least 3 characters" }] },
  };
  vi.stubGlobal("fetch", async () => new Response(JSON.stringify(body), { status: 400 }));
  const error = await api("/v1/users", "POST", {}).catch((e) => e);
  expect(error).toBeInstanceOf(ApiError);
  expect(error.message).toBe("Email must be at least 3 characters.");
  expect(error.serverMessage).toBe(body.error);
  expect(error.code).toBe("invalid_request");

  vi.stubGlobal("fetch", async () => {
    throw new TypeError("Failed to fetch");
  });
  const offline = await api("/v1/device").catch((e) => e);
  expect(offline.status).toBe(0);
  expect(offline.message).toBe("The lab cannot be reached: check your connection and try again.");
});

test("the server's own 'field: problem' checks and an empty text read as sentences", () => {
  expect(plainMessage(new Error("title: at most 200 characters"))).toBe("Title must be at most 200 characters.");
  expect(plainMessage(new Error("email: not an email address"))).toBe(
    "Email must be an email address, like ada@example.org.",
  );
  expect(plainProblem("data.title", "String should have at least 1 character")).toBe("Title cannot be empty.");
});
