/** Email addresses found by a linear scan (no regex backtracking). Pure. */

export const EMAIL_REDACTED = "[email redacted]";

/** Characters of an email's local part and domain, tested by char code (no regex, no backtracking). */
function isLocalChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 46 ||
    c === 95 ||
    c === 37 ||
    c === 43 ||
    c === 45
  );
}
function isDomainChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 45;
}

/**
 * True for `example.com`: dotted labels, none empty, ending in a label of two or more letters.
 * Not an image density suffix (`icon@2x.png`, `logo@1.5x.webp`).
 */
function isEmailDomain(domain: string): boolean {
  const labels = domain.split(".");
  const tld = labels[labels.length - 1] ?? "";
  if (/^\d+(?:\.\d+)?x\./i.test(domain)) return false;
  return labels.length >= 2 && labels.every((l) => l.length > 0) && /^[A-Za-z]{2,}$/.test(tld);
}

/**
 * Replaces every email address with `[email redacted]`. Scans from each `@` outwards over the
 * characters an address may hold; neither scan crosses another `@` or an earlier replacement,
 * so each character is read at most twice (linear time, whatever the input).
 */
export function redactEmails(text: string): string {
  let out = "";
  let last = 0;
  for (let at = text.indexOf("@"); at !== -1; at = text.indexOf("@", at + 1)) {
    let start = at;
    while (start > last && isLocalChar(text.charCodeAt(start - 1))) start--;
    while (start < at && text[start] === ".") start++;
    let end = at + 1;
    while (end < text.length && isDomainChar(text.charCodeAt(end))) end++;
    while (end > at + 1 && (text[end - 1] === "." || text[end - 1] === "-")) end--;
    if (start === at || !isEmailDomain(text.slice(at + 1, end))) continue;
    out += text.slice(last, start) + EMAIL_REDACTED;
    last = end;
  }
  return out + text.slice(last);
}
