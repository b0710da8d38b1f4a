/** The interpreter selected in the Python extension (ms-python.python), through its published API. */

import { PVSC_EXTENSION_ID, PythonExtension } from '@vscode/python-extension';
import * as vscode from 'vscode';

/**
 * The Python extension's selected interpreter for a folder; undefined when that extension is not
 * installed (or disabled) or has no interpreter selected.
 */
export async function pythonFromExtension(resource: vscode.Uri | undefined): Promise<string | undefined> {
    if (!vscode.extensions.getExtension(PVSC_EXTENSION_ID)) {
        return undefined; // PythonExtension.api() would throw: not an error for MSP
    }
    const api = await PythonExtension.api();
    const active = api.environments.getActiveEnvironmentPath(resource);
    const env = await api.environments.resolveEnvironment(active);
    return env?.executable.uri?.fsPath;
}
