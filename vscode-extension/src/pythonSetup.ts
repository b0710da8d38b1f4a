/**
 * First run with no usable Python: one notification that says what to install, with a way to
 * the walkthrough step "Python for MSP" (media/walkthrough/python.md) and to python.org.
 */

import * as vscode from 'vscode';

export const OPEN_WALKTHROUGH = 'Open walkthrough';
export const INSTALL_PYTHON = 'Install Python';
export const PYTHON_DOWNLOADS = 'https://www.python.org/downloads/';
/** The walkthrough step's markdown (contributes.walkthroughs[].steps[].media.markdown). */
export const PYTHON_STEP_MARKDOWN = 'media/walkthrough/python.md';

interface WalkthroughJson {
    id?: string;
    steps?: { id?: string; media?: { markdown?: string } }[];
}

/**
 * `workbench.action.openWalkthrough`'s argument for the step whose markdown is python.md, read
 * from the extension's manifest (so the walkthrough's ids live in package.json only).
 */
export function pythonStep(extensionId: string, packageJson: unknown): { category: string; step?: string } | undefined {
    const contributes = (packageJson as { contributes?: { walkthroughs?: WalkthroughJson[] } } | undefined)?.contributes;
    for (const walkthrough of contributes?.walkthroughs ?? []) {
        const step = walkthrough.steps?.find((s) => s.media?.markdown?.replace(/^\.\//, '') === PYTHON_STEP_MARKDOWN);
        if (walkthrough.id && step?.id) {
            const category = `${extensionId}#${walkthrough.id}`;
            return { category, step: `${category}#${step.id}` };
        }
    }
    return undefined;
}

/** The walkthrough step, or (no walkthrough in this build) the same text as a preview. */
async function openPythonStep(extension: vscode.Extension<unknown> | undefined): Promise<void> {
    const step = extension ? pythonStep(extension.id, extension.packageJSON) : undefined;
    if (step) {
        await vscode.commands.executeCommand('workbench.action.openWalkthrough', step, false);
    } else if (extension) {
        await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.joinPath(extension.extensionUri, PYTHON_STEP_MARKDOWN));
    }
}

/** The notification for `reason` (interpreter.ts's noUsablePythonReason: a sentence that starts with "MSP"). */
export async function showNoPython(reason: string, extensionId: string, showLog: () => void): Promise<void> {
    const SHOW_LOG = 'Show log';
    const choice = await vscode.window.showErrorMessage(`${reason}.`, OPEN_WALKTHROUGH, INSTALL_PYTHON, SHOW_LOG);
    if (choice === OPEN_WALKTHROUGH) {
        await openPythonStep(vscode.extensions.getExtension(extensionId));
    } else if (choice === INSTALL_PYTHON) {
        await vscode.env.openExternal(vscode.Uri.parse(PYTHON_DOWNLOADS));
    } else if (choice === SHOW_LOG) {
        showLog();
    }
}
