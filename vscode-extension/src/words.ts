/** Editor wording shared by messages, the status bar and the MSP view. No vscode import. */

/** "1 update", "2 updates", "1 entity", "3 entities". */
export function plural(n: number, word: string, many = `${word}s`): string {
    return `${n} ${n === 1 ? word : many}`;
}

/** Lower-case the first letter of a sentence-start word, not of an acronym ("ADR …"). */
export function lowerFirst(text: string): string {
    return text.length > 1 && /[A-Z]/.test(text[0]) && !/[A-Z0-9]/.test(text[1]) ? text[0].toLowerCase() + text.slice(1) : text;
}

/** Text on one line, cut with an ellipsis at `max` characters (tree item labels). */
export function oneLine(text: string, max = 80): string {
    const one = text.replace(/\s+/g, ' ').trim();
    return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** Markdown's special characters escaped: user text in a tooltip stays text. */
export function escapeMd(text: string): string {
    return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}
