/** A TreeItem from a view's plain description (treeModel.ts's NodeView): the Session, History and Team trees. */

import * as vscode from 'vscode';

import type { NodeView } from './treeModel';

/** Tooltips are Markdown but never trusted: record text comes from the store or a shared graph. */
export function treeItemOf(view: NodeView, id: string, themeIconsInTooltip = false): vscode.TreeItem {
    const state = !view.collapsible
        ? vscode.TreeItemCollapsibleState.None
        : view.expanded
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(view.label, state);
    item.id = id;
    item.description = view.description;
    item.iconPath = new vscode.ThemeIcon(view.icon);
    item.contextValue = view.context;
    if (view.tooltip) {
        const tooltip = new vscode.MarkdownString(view.tooltip, themeIconsInTooltip);
        tooltip.isTrusted = false;
        item.tooltip = tooltip;
    }
    return item;
}
