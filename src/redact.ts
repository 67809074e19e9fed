/** Text safe to print: the password of every URL in it replaced (`user:***@`, `:***@` with no user). */
export function redact(text: string): string {
  return text.replace(/\/\/([^:/@\s]*):([^@/\s]*)@/g, "//$1:***@");
}
