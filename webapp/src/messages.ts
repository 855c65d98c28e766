// Errors in plain language. The API names invalid fields with the validator's own words
// (`details.problems`: [{field, problem}], docs/reference/api.md); people see "Email must be
// at least 3 characters", never "String should have at least 3 characters". api.ts words
// every error it raises this way, so each page shows plain text. No DOM here.

const LABELS: Record<string, string> = {
  email: "Email",
  password: "Password",
  "new-password": "New password",
  "old-password": "Current password",
  title: "Title",
  code: "Code",
  function: "Function",
  token: "Link",
  first_name: "First name",
  last_name: "Last name",
  description: "Description",
  level: "Level",
};

/** "data.email" → "Email"; an unknown field is named in words ("max_items" → "Max items"). */
export function fieldLabel(field: string): string {
  const last = field.split(".").filter((p) => p && p !== "data" && p !== "body").pop() ?? "";
  if (!last) return "The request";
  if (LABELS[last]) return LABELS[last];
  const words = last.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const RULES: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/should have at least 1 characters?/i, () => "cannot be empty"],
  [/should have at least (\d+) characters?/i, (m) => `must be at least ${m[1]} characters`],
  [/should have at most (\d+) characters?/i, (m) => `must be at most ${m[1]} characters`],
  [/should have minimum (\d+) characters?/i, (m) => `must be at least ${m[1]} characters`],
  [/should have at least (\d+) items?/i, (m) => `needs at least ${m[1]} values`],
  [/should have at most (\d+) items?/i, (m) => `takes at most ${m[1]} values`],
  [/^field required/i, () => "is required"],
  [/not a valid email|valid email address/i, () => "must be an email address, like ada@example.org"],
  [/valid integer/i, () => "must be a whole number"],
  [/valid number|valid float/i, () => "must be a number"],
  [/valid boolean/i, () => "must be yes or no"],
  [/valid string/i, () => "must be text"],
  [/greater than or equal to (\S+)/i, (m) => `must be at least ${m[1]}`],
  [/less than or equal to (\S+)/i, (m) => `must be at most ${m[1]}`],
  [/greater than (\S+)/i, (m) => `must be more than ${m[1]}`],
  [/less than (\S+)/i, (m) => `must be less than ${m[1]}`],
  [/extra inputs are not permitted/i, () => "is not expected here"],
  [/should be (?:'[^']*'(?:, | or )?)+/i, (m) => `must be one of ${m[0].replace(/^should be /i, "")}`],
];

/** One validator problem about `field` as a sentence: "Email must be at least 3 characters." */
export function plainProblem(field: string, problem: string): string {
  for (const [pattern, say] of RULES) {
    const match = problem.match(pattern);
    if (match) return `${fieldLabel(field)} ${say(match)}.`;
  }
  return `${fieldLabel(field)} is not valid.`;
}

const KNOWN: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^invalid credentials$/i, () => "Wrong email or password."],
  [/^password should have minimum (\d+) characters$/i, (m) => `Password must be at least ${m[1]} characters.`],
  [/^password should have at most (\d+) characters$/i, (m) => `Password must be at most ${m[1]} characters.`],
  // The server's own checks say "field: problem".
  [/^(\w+): (?:at most|should have at most) (\d+) characters$/i, (m) => `${fieldLabel(m[1])} must be at most ${m[2]} characters.`],
  [/^(\w+): not an email address$/i, (m) => `${fieldLabel(m[1])} must be an email address, like ada@example.org.`],
  [/^failed to fetch$|networkerror|load failed/i, () => "The lab cannot be reached: check your connection and try again."],
];

/** What to tell a person about an API error: its status, `error` text and `details`. */
export function plainText(status: number, message: string, details?: Record<string, unknown> | null): string {
  const problems = details?.problems;
  if (Array.isArray(problems) && problems.length) {
    return problems
      .slice(0, 3)
      .map((p: { field?: unknown; problem?: unknown }) => plainProblem(String(p?.field ?? ""), String(p?.problem ?? "")))
      .join(" ");
  }
  if (status === 429) {
    const wait = Number(details?.retry_after);
    return Number.isFinite(wait) && wait > 0
      ? `Too many tries: wait ${Math.ceil(wait)} s and try again.`
      : "Too many tries: wait a little and try again.";
  }
  return known(message);
}

function known(text: string): string {
  for (const [pattern, say] of KNOWN) {
    const match = text.match(pattern);
    if (match) return say(match);
  }
  return text;
}

/** What to tell a person about any error (an ApiError's message is plain already). */
export function plainMessage(error: unknown): string {
  return known(error instanceof Error ? error.message : String(error));
}
