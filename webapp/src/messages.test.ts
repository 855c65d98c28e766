// Plain-language errors from the API's validation details.
import { ApiError } from "./api";
import { fieldLabel, plainMessage, plainProblem } from "./messages";

const invalid = (problems: { field: string; problem: string }[]) =>
  new ApiError(400, "invalid request: ...", "invalid_request", { problems });

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

test("plainMessage never shows the validator's words", () => {
  const message = plainMessage(invalid([{ field: "email", problem: "String should have at least 3 characters" }]));
  expect(message).toBe("Email must be at least 3 characters.");
  expect(message).not.toMatch(/String should/);
  expect(plainMessage(new ApiError(400, "Password should have minimum 8 characters"))).toBe(
    "Password must be at least 8 characters.",
  );
  expect(plainMessage(new ApiError(401, "Invalid Credentials"))).toBe("Wrong email or password.");
  expect(plainMessage(new ApiError(429, "slow down", "rate_limited", { retry_after: 2.2 }))).toBe(
    "Too many tries: wait 3 s and try again.",
  );
  expect(plainMessage(new TypeError("Failed to fetch"))).toMatch(/cannot be reached/);
  expect(plainMessage(new Error("email taken"))).toBe("email taken");
});
