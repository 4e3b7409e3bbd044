/**
 * A minimal XML element model for OMEMO's element codecs, so `omemo/` needs no XMPP library.
 * Elements hold either children or text (OMEMO never uses mixed content). Namespaces are plain
 * `xmlns` attributes; the codecs check them explicitly.
 */

/** One XML element. `text` is '' for elements with children. */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  readonly text: string;
}

/** Builds an element; `undefined` attribute values are left out (how false booleans are omitted). */
export function xmlElement(
  name: string,
  attrs: Readonly<Record<string, string | undefined>> = {},
  children: readonly XmlElement[] = [],
  text = '',
): XmlElement {
  const defined: Record<string, string> = {};
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) defined[key] = value;
  if (children.length > 0 && text !== '') throw new TypeError('xmlElement: mixed content is not supported');
  return { name, attrs: defined, children: [...children], text };
}

/** Structural equality (attribute order ignored). */
export function xmlEquals(a: XmlElement, b: XmlElement): boolean {
  if (a.name !== b.name || a.text !== b.text || a.children.length !== b.children.length) return false;
  const aKeys = Object.keys(a.attrs);
  if (aKeys.length !== Object.keys(b.attrs).length) return false;
  for (const key of aKeys) if (a.attrs[key] !== b.attrs[key]) return false;
  return a.children.every((child, i) => {
    const other = b.children[i];
    return other !== undefined && xmlEquals(child, other);
  });
}
