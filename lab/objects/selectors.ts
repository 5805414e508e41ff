/**
 * Label and field selectors as the API server parses them from `?labelSelector=` and `?fieldSelector=`.
 * Parsing returns either the requirements or an error message for a 400 BadRequest.
 */
export type LabelOperator = 'exists' | 'notExists' | 'equals' | 'notEquals' | 'in' | 'notIn' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const namePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label key is invalid, or undefined when it is valid (`app`, `kubernetes.io/hostname`). */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (slash !== -1) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !dnsSubdomain.test(prefix)) {
      return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
    }
  }
  if (!namePart.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Why a label value is invalid, or undefined. Empty values are valid. */
export function labelValueError(value: string): string | undefined {
  if (value === '' || namePart.test(value)) return undefined;
  return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
}

/** Splits at top-level commas (commas inside `in (a,b)` belong to the requirement). */
function splitTopLevel(text: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (depth < 0 || depth > 1) return undefined;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (depth !== 0) return undefined;
  parts.push(current);
  return parts;
}

const setPattern = /^([^\s!=<>()]+)\s+(in|notin)\s*\(([^()]*)\)$/;
const binaryPattern = /^([^\s!=<>()]+)\s*(==|=|!=|>|<)\s*([^\s!=<>(),]*)$/;

function parseRequirement(text: string): Parsed<LabelRequirement> {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: "unable to parse requirement: found '', expected: identifier" };
  let requirement: LabelRequirement;
  const set = setPattern.exec(trimmed);
  const binary = binaryPattern.exec(trimmed);
  if (set !== null) {
    const [, key = '', op = '', list = ''] = set;
    const values = list.split(',').map((v) => v.trim());
    requirement = { key, operator: op === 'in' ? 'in' : 'notIn', values };
  } else if (binary !== null) {
    const [, key = '', op = '', value = ''] = binary;
    const operator: LabelOperator = op === '!=' ? 'notEquals' : op === '>' ? 'gt' : op === '<' ? 'lt' : 'equals';
    requirement = { key, operator, values: [value] };
  } else if (/^![^\s!=<>(),]+$/.test(trimmed)) {
    requirement = { key: trimmed.slice(1), operator: 'notExists', values: [] };
  } else if (/^[^\s!=<>(),]+$/.test(trimmed)) {
    requirement = { key: trimmed, operator: 'exists', values: [] };
  } else {
    return {
      ok: false,
      error: `unable to parse requirement: found '${trimmed}', expected: in, notin, =, ==, !=, gt, lt`,
    };
  }
  const keyError = labelKeyError(requirement.key);
  if (keyError !== undefined) {
    return { ok: false, error: `unable to parse requirement: Invalid value: "${requirement.key}": ${keyError}` };
  }
  if (requirement.operator === 'gt' || requirement.operator === 'lt') {
    const [value = ''] = requirement.values;
    if (!/^-?[0-9]+$/.test(value)) {
      return {
        ok: false,
        error: `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`,
      };
    }
    return { ok: true, value: requirement };
  }
  for (const value of requirement.values) {
    const valueError = labelValueError(value);
    if (valueError !== undefined) {
      return { ok: false, error: `unable to parse requirement: Invalid value: "${value}": ${valueError}` };
    }
  }
  return { ok: true, value: requirement };
}

/** Parses `?labelSelector=`; the empty selector matches everything. */
export function parseLabelSelector(text: string): Parsed<LabelRequirement[]> {
  if (text.trim() === '') return { ok: true, value: [] };
  const parts = splitTopLevel(text);
  if (parts === undefined)
    return { ok: false, error: `unable to parse requirement: unbalanced parentheses in "${text}"` };
  const requirements: LabelRequirement[] = [];
  for (const part of parts) {
    const parsed = parseRequirement(part);
    if (!parsed.ok) return parsed;
    requirements.push(parsed.value);
  }
  return { ok: true, value: requirements };
}

export function matchesLabels(
  requirements: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>>,
): boolean {
  return requirements.every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    switch (operator) {
      case 'exists':
        return has;
      case 'notExists':
        return !has;
      case 'equals':
      case 'in':
        return value !== undefined && values.includes(value);
      case 'notEquals':
      case 'notIn':
        return value === undefined || !values.includes(value);
      case 'gt':
      case 'lt': {
        if (value === undefined || !/^-?[0-9]+$/.test(value)) return false;
        const bound = Number(values[0]);
        return operator === 'gt' ? Number(value) > bound : Number(value) < bound;
      }
    }
  });
}

/** A `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`) as requirements. */
export function requirementsOfSelector(selector: {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { key: string; operator: string; values?: readonly string[] }[];
}): LabelRequirement[] {
  const requirements: LabelRequirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({
    key,
    operator: 'equals',
    values: [value],
  }));
  for (const expression of selector.matchExpressions ?? []) {
    const operators: Readonly<Record<string, LabelOperator>> = {
      In: 'in',
      NotIn: 'notIn',
      Exists: 'exists',
      DoesNotExist: 'notExists',
    };
    const operator: LabelOperator | undefined = operators[expression.operator];
    // An unknown operator matches nothing, as an invalid selector would select nothing.
    requirements.push({
      key: expression.key,
      operator: operator ?? 'in',
      values: operator ? (expression.values ?? []) : [],
    });
  }
  return requirements;
}

export interface FieldRequirement {
  readonly field: string;
  readonly negated: boolean;
  readonly value: string;
}

/** Splits on unescaped `sep`, undoing `\,`, `\=`, `\\` escapes in the pieces only when `unescape` is set. */
function splitEscaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char === '\\' && i + 1 < text.length) {
      current += char + text.charAt(i + 1);
      i++;
    } else if (char === sep) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** Parses `?fieldSelector=` (`metadata.name=x,status.phase!=Running`). */
export function parseFieldSelector(text: string): Parsed<FieldRequirement[]> {
  if (text.trim() === '') return { ok: true, value: [] };
  const requirements: FieldRequirement[] = [];
  for (const part of splitEscaped(text, ',')) {
    const match = /^([^=!]+?)\s*(==|=|!=)(.*)$/s.exec(part.trim());
    if (match === null) return { ok: false, error: `invalid selector: '${text}'; can't understand '${part}'` };
    const [, field = '', op = '', value = ''] = match;
    requirements.push({ field: field.trim(), negated: op === '!=', value: unescapeFieldValue(value.trim()) });
  }
  return { ok: true, value: requirements };
}

export function matchesFields(requirements: readonly FieldRequirement[], fields: ReadonlyMap<string, string>): boolean {
  return requirements.every(({ field, negated, value }) => (fields.get(field) === value) !== negated);
}
