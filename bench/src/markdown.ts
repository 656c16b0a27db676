/** A titled Markdown table with its notes below, as report lines. */
export function markdownTable(title: string, head: string[], body: unknown[][], notes: string[]): string[] {
  return [
    title,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((row) => `| ${row.join(' | ')} |`),
    '',
    ...(notes.length ? [...notes, ''] : []),
  ];
}
