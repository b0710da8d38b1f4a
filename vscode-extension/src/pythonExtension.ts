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

/**
 * Call `listener` when the Python extension's selected interpreter changes (Python: Select
 * Interpreter); undefined when that extension is not installed.
 */
export async function onDidChangePythonInterpreter(listener: () => void): Promise<vscode.Disposable | undefined> {
    if (!vscode.extensions.getExtension(PVSC_EXTENSION_ID)) {
        return undefined;
    }
    const api = await PythonExtension.api();
    return api.environments.onDidChangeActiveEnvironmentPath(() => listener());
}
