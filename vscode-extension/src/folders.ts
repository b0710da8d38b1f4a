/** Which workspace folder a command is for: the active editor's, the only one, or ask. */

import * as vscode from 'vscode';

export type FolderChoice<F> = { kind: 'none' } | { kind: 'folder'; folder: F } | { kind: 'ask'; folders: readonly F[] };

/** The decision without the asking (unit-tested). */
export function folderChoice<F>(folders: readonly F[] | undefined, activeEditorFolder: F | undefined): FolderChoice<F> {
    if (!folders || folders.length === 0) {
        return { kind: 'none' };
    }
    if (activeEditorFolder && folders.includes(activeEditorFolder)) {
        return { kind: 'folder', folder: activeEditorFolder };
    }
    if (folders.length === 1) {
        return { kind: 'folder', folder: folders[0] };
    }
    return { kind: 'ask', folders };
}

export async function chooseFolder(title = 'MSP: which folder?'): Promise<vscode.WorkspaceFolder | undefined> {
    const folders = vscode.workspace.workspaceFolders;
    const editor = vscode.window.activeTextEditor;
    const active = editor ? vscode.workspace.getWorkspaceFolder(editor.document.uri) : undefined;
    const choice = folderChoice(folders, active && folders?.find((f) => f.uri.toString() === active.uri.toString()));
    if (choice.kind === 'none') {
        void vscode.window.showWarningMessage('MSP works on workspace folders: open a folder first.');
        return undefined;
    }
    if (choice.kind === 'folder') {
        return choice.folder;
    }
    const pick = await vscode.window.showQuickPick(
        choice.folders.map((folder) => ({ label: folder.name, description: folder.uri.fsPath, folder })),
        { title, placeHolder: 'Workspace folder' },
    );
    return pick?.folder;
}
