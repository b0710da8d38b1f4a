/**
 * Paths that come from the store or the team graph are data: a record's `path` is opened
 * only when it stays inside its folder (no absolute path, drive, UNC/backslash root or `..`),
 * since `Uri.joinPath` would resolve `../../.ssh/id_rsa` to a file outside it.
 */
export function safeRelative(p: string): boolean {
    return !!p && !/^[\\/]/.test(p) && !/^[a-zA-Z]:/.test(p) && !p.split(/[\\/]/).includes('..');
}
