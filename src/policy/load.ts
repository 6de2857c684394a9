import { readFile } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { compilePolicy, PolicyError, type Policy } from './compile.js';
import { PolicyDocumentSchema } from './schema.js';

export function parsePolicy(text: string, origin: string): Policy {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new PolicyError([`${origin}: not valid YAML: ${(error as Error).message}`]);
  }
  return validatePolicyDocument(raw, origin);
}

export function validatePolicyDocument(raw: unknown, origin: string): Policy {
  if (!Value.Check(PolicyDocumentSchema, raw)) {
    const problems = [...Value.Errors(PolicyDocumentSchema, raw)].map(
      (error) => `${origin}: ${error.path === '' ? '(document)' : error.path}: ${error.message}`,
    );
    throw new PolicyError(problems);
  }
  return compilePolicy(raw);
}

export async function loadPolicyFile(path: string): Promise<Policy> {
  return parsePolicy(await readFile(path, 'utf8'), path);
}
