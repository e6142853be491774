#!/usr/bin/env node
/**
 * SQL has one home per module: its repository (`*.repository.ts`), and the migrations. This check
 * (part of `npm run lint`) fails on a string or template literal in src/ that reads as an SQL
 * statement (SELECT, INSERT INTO, UPDATE … SET, DELETE FROM, WITH … AS) anywhere else.
 *
 * Infrastructure statements that are no module's data (the migration lock, CREATE DATABASE, a
 * health probe's `SELECT 1`) may stay where they run when the literal's line, or the line above
 * it, says `sql-home: infrastructure` with the reason.
 *
 * Usage: node scripts/check-sql-homes.mjs [file or folder …] (default: src)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** A statement's opening words, upper case as this code base writes SQL. */
const SQL_STATEMENT =
  /(^|[\s(])(SELECT\s+(\S+\s+)*?(FROM|\d|\w+\()|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+\w+\s+AS\s*\()/;
const ALLOWED_FILE = /\.repository\.ts$|^src\/database\/migrations\//;
const INFRASTRUCTURE_MARK = /sql-home: infrastructure/;

function* typeScriptFiles(entry) {
  if (statSync(entry).isDirectory()) {
    for (const name of readdirSync(entry)) yield* typeScriptFiles(path.join(entry, name));
  } else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) yield entry;
}

/** The literals' text, a template's substitutions as `?`. */
function literalText(node) {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node))
    return [node.head.text, ...node.templateSpans.map((span) => `? ${span.literal.text}`)].join('');
  return undefined;
}

/** [{ file, line, text }] of the SQL literals of `file` outside its allowed homes. */
export function sqlOutsideHomes(file, source = readFileSync(file, 'utf8')) {
  const relative = path.relative(process.cwd(), file).split(path.sep).join('/');
  if (ALLOWED_FILE.test(relative) || relative.endsWith('.spec.ts')) return [];
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const lines = source.split('\n');
  const found = [];
  const visit = (node) => {
    const text = literalText(node);
    if (text !== undefined && SQL_STATEMENT.test(text)) {
      const line = sourceFile.getLineAndCharacterOfPosition(node.getStart()).line;
      const marked =
        INFRASTRUCTURE_MARK.test(lines[line]) || INFRASTRUCTURE_MARK.test(lines[line - 1] ?? '');
      if (!marked) found.push({ file: relative, line: line + 1, text: text.trim().split('\n')[0] });
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

function main(entries) {
  let errors = 0;
  for (const entry of entries)
    for (const file of typeScriptFiles(entry))
      for (const hit of sqlOutsideHomes(file)) {
        errors++;
        console.log(
          `${hit.file}:${hit.line}: error: SQL outside a repository: ${hit.text.slice(0, 80)}`,
        );
      }
  if (errors > 0) console.log(`\n${errors} error(s): SQL belongs in the module's *.repository.ts`);
  return errors === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`)
  process.exitCode = main(process.argv.length > 2 ? process.argv.slice(2) : ['src']);
