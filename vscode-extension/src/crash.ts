/** Why a process stopped, from the tail of its stderr. No vscode import. */

/**
 * The line of a stderr tail that says why a process stopped: a traceback's last line (the
 * exception), else the last ERROR/CRITICAL log line; undefined when there is none (an INFO line
 * is never the cause).
 */
export function lastErrorLine(lines: readonly string[]): string | undefined {
    const clean = lines.map((l) => l.trim()).filter(Boolean);
    const traceback = clean.map((l) => /^Traceback \(most recent call last\)/.test(l)).lastIndexOf(true);
    if (traceback >= 0) {
        const exception = clean
            .slice(traceback + 1)
            .filter((l) => /^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Corruption)(: |$)/.test(l))
            .at(-1);
        if (exception) {
            return exception;
        }
    }
    return clean.filter((l) => /\b(ERROR|CRITICAL|FATAL)\b|^\w*Error: /.test(l)).at(-1);
}
