/**
 * Turns `:name` placeholders into knex's positional `?` bindings, so a statement that uses a value many times
 * names it instead of repeating it in order. `::type` casts are left alone. Values are always bound, never
 * written into the SQL text.
 */
export function namedSql(sql: string, values: Record<string, string | number>): { sql: string; bindings: (string | number)[] } {
  const bindings: (string | number)[] = [];
  const text = sql.replace(/(?<!:):([a-z_]+)/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for :${name}`);
    bindings.push(value);
    return '?';
  });
  return { sql: text, bindings };
}
