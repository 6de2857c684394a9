/**
 * A StrykerJS plugin (loaded by stryker.config.json, through Node's own type stripping):
 * documentation strings, `description:` in TypeBox schemas and in the development policy,
 * are read by no decision and no response, so mutating them only counts how many there are.
 * An object that holds nothing but a description goes with them.
 */
interface AstNode {
  readonly type: string;
  readonly key?: AstNode;
  readonly name?: string;
  readonly properties?: readonly AstNode[];
}

const isDescription = (node: AstNode): boolean =>
  node.type === 'ObjectProperty' && node.key?.type === 'Identifier' && node.key.name === 'description';

function documentationOnly(path: { readonly node: AstNode }): string | undefined {
  const { node } = path;
  if (isDescription(node)) return 'a description: documentation only';
  const { properties = [] } = node;
  if (node.type === 'ObjectExpression' && properties.length > 0 && properties.every(isDescription)) {
    return 'an object holding only a description: documentation only';
  }
  return undefined;
}

/** What declareValuePlugin(PluginKind.Ignore, 'documentation', ...) from @stryker-mutator/api builds. */
export const strykerPlugins = [{ kind: 'Ignore', name: 'documentation', value: { shouldIgnore: documentationOnly } }];
