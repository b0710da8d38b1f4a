/**
 * The `msp` section as the server gets it (workspace/configuration, per folder): only what the
 * user set. VS Code fills every contributed setting with its default; sent as is, those defaults
 * would override the folder's `.msp/config.json` (editor settings come last in MSP's
 * precedence). The extension's own keys stay home.
 */

/** Top-level keys of the section that only the extension reads. */
export const CLIENT_ONLY_KEYS = ['server', 'notifications', 'trace'];

function isObject(value: unknown): value is Record<string, unknown> {
    return !!value && typeof value === 'object' && !Array.isArray(value);
}

function removePath(obj: Record<string, unknown>, parts: string[]): void {
    const [head, ...rest] = parts;
    if (!(head in obj)) {
        return;
    }
    if (rest.length === 0) {
        delete obj[head];
        return;
    }
    const child = obj[head];
    if (isObject(child)) {
        removePath(child, rest);
        if (Object.keys(child).length === 0) {
            delete obj[head];
        }
    }
}

/**
 * @param merged the section as VS Code resolves it for the folder (defaults included)
 * @param contributed keys the extension contributes, relative to the section ("capture.enabled")
 * @param isExplicit whether the user set that key at any level (user, workspace, folder)
 */
export function settingsForServer(
    merged: unknown,
    contributed: readonly string[],
    isExplicit: (key: string) => boolean,
): Record<string, unknown> {
    if (!isObject(merged)) {
        return {};
    }
    const out = JSON.parse(JSON.stringify(merged)) as Record<string, unknown>;
    for (const key of CLIENT_ONLY_KEYS) {
        delete out[key];
    }
    for (const key of contributed) {
        if (!isExplicit(key)) {
            removePath(out, key.split('.'));
        }
    }
    return out;
}

/** `inspect()` of a setting: set by the user anywhere (not just defaulted)? */
export function explicitlySet(
    inspected: { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown } | undefined,
): boolean {
    return (
        !!inspected &&
        (inspected.globalValue !== undefined ||
            inspected.workspaceValue !== undefined ||
            inspected.workspaceFolderValue !== undefined)
    );
}
