/** The interpreter selected in the Python extension (ms-python.python), as the tools template reads it. */

import * as vscode from 'vscode';

interface PythonApi {
    environment?: {
        getActiveEnvironmentPath(resource?: vscode.Uri): unknown;
        resolveEnvironment(env: unknown): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
    };
    settings?: { getExecutionDetails(resource?: vscode.Uri): { execCommand?: string[] } };
}

/** The Python extension's selected interpreter for a folder (template: python.ts). */
export async function pythonFromExtension(resource: vscode.Uri | undefined): Promise<string | undefined> {
    const extension = vscode.extensions.getExtension('ms-python.python');
    if (!extension) {
        return undefined;
    }
    const api = (extension.isActive ? extension.exports : await extension.activate()) as PythonApi | undefined;
    if (api?.environment) {
        const env = await api.environment.resolveEnvironment(api.environment.getActiveEnvironmentPath(resource));
        if (env?.executable?.uri) {
            return env.executable.uri.fsPath;
        }
    }
    const exec = api?.settings?.getExecutionDetails(resource).execCommand;
    return exec && exec.length === 1 ? exec[0] : undefined;
}
