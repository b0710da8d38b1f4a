/**
 * Building the single object argument every `msp.server.*` command takes: `folderUri` plus the
 * command's camelCase fields. Empty input means "not given": the field is left out so the
 * server's default applies. The server validates everything again; the checks here only give
 * the input box immediate feedback.
 */

export type Fields = Record<string, unknown>;

/** `{folderUri, ...fields}` without undefined, null or blank-string fields. */
export function buildArgs(folderUri: string, fields: Fields = {}): Fields {
    const args: Fields = { folderUri };
    for (const [key, value] of Object.entries(fields)) {
        if (value === undefined || value === null) {
            continue;
        }
        if (typeof value === 'string') {
            const trimmed = value.trim();
            if (trimmed) {
                args[key] = trimmed;
            }
            continue;
        }
        if (Array.isArray(value) && value.length === 0) {
            continue;
        }
        args[key] = value;
    }
    return args;
}

/** An input box's validateInput for an optional percentage: a message, or undefined if fine. */
export function checkProgress(raw: string): string | undefined {
    const text = raw.trim();
    if (!text) {
        return undefined;
    }
    if (!/^\d{1,3}$/.test(text) || Number(text) > 100) {
        return 'Progress is a whole number from 0 to 100 (or leave it empty).';
    }
    return undefined;
}

/** "45" -> 45; "" -> undefined. Call after checkProgress accepted the text. */
export function parseProgress(raw: string | undefined): number | undefined {
    const text = (raw ?? '').trim();
    return text ? Number(text) : undefined;
}

/** Required text: refuse an empty input box. */
export function checkRequired(what: string): (raw: string) => string | undefined {
    return (raw) => (raw.trim() ? undefined : `${what} must not be empty.`);
}

/** "JWT; sessions ;; OAuth" -> ["JWT", "sessions", "OAuth"]. */
export function parseList(raw: string | undefined): string[] {
    return (raw ?? '')
        .split(/[;\n]/)
        .map((s) => s.trim())
        .filter(Boolean);
}

/** A credential name as the keyring stores it (`msp credentials set NAME`). */
export function checkCredentialName(raw: string): string | undefined {
    return /^[a-z][a-z0-9_.-]{0,63}$/.test(raw.trim())
        ? undefined
        : 'A credential name is lowercase letters, digits, ".", "_" or "-", starting with a letter (e.g. linear-api-key).';
}

/** Workspace-relative POSIX path of a file inside a folder, or undefined when outside. */
export function relativePath(folderPath: string, filePath: string): string | undefined {
    const norm = (p: string): string => p.replace(/\\/g, '/').replace(/\/+$/, '');
    const folder = norm(folderPath);
    const file = norm(filePath);
    if (!file.startsWith(`${folder}/`)) {
        return undefined;
    }
    return file.slice(folder.length + 1);
}
