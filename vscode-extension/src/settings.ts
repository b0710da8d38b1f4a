/**
 * The `msp` section as the server gets it (workspace/configuration, per folder): only what the
 * user set. VS Code fills every contributed setting with its default; sent as is, those defaults
 * would override the folder's `.msp/config.json` (editor settings come last in MSP's
 * precedence). The extension's own keys stay home.
 */

/** Top-level keys of the section that only the extension reads. */
export const CLIENT_ONLY_KEYS = ['server', 'notifications', 'trace'];

/**
 * Settings that choose code, destinations or paths (package.json restrictedConfigurations): in
 * an untrusted workspace only their user (global) values count.
 */
export const RESTRICTED_SETTINGS = ['server.command', 'integrations'] as const;

/**
 * What a workspace's own settings may still set in Restricted Mode: which saved files are
 * scanned. Everything else in the section (contributed or not: `.vscode/settings.json` may
 * carry any `msp.*` key, e.g. a stateDir) comes from the user settings only.
 */
export const WORKSPACE_SAFE_KEYS = ['capture.enabled', 'capture.exclude'] as const;

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

function getPath(obj: Record<string, unknown>, parts: string[]): unknown {
    let value: unknown = obj;
    for (const part of parts) {
        if (!isObject(value) || !(part in value)) {
            return undefined;
        }
        value = value[part];
    }
    return value;
}

/**
 * The section for a server in an untrusted workspace: `settings` (from settingsForServer)
 * reduced to the workspace-safe keys, plus the user's own value of every other top-level key.
 *
 * @param globalValue `inspect(key).globalValue` of a top-level key of the section
 */
export function userSettingsOnly(
    settings: Record<string, unknown>,
    globalValue: (key: string) => unknown,
): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const safeTop = new Set(WORKSPACE_SAFE_KEYS.map((key) => key.split('.')[0]));
    for (const key of Object.keys(settings)) {
        if (safeTop.has(key)) {
            continue;
        }
        const value = globalValue(key);
        if (value !== undefined) {
            out[key] = JSON.parse(JSON.stringify(value)) as unknown;
        }
    }
    for (const key of WORKSPACE_SAFE_KEYS) {
        const [head, ...rest] = key.split('.');
        const value = getPath(settings, key.split('.'));
        if (value !== undefined) {
            const parent = isObject(out[head]) ? (out[head] as Record<string, unknown>) : {};
            parent[rest.join('.')] = value;
            out[head] = parent;
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
