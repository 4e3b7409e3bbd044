/**
 * The part of @xmpp/xml 0.14 (ltx elements) this library uses. @xmpp/* ship no type
 * declarations; only lib/xmpp/ imports them.
 */
declare module '@xmpp/xml' {
  /** An ltx element as @xmpp/xml builds and parses it. */
  export class Element {
    constructor(name: string, attrs?: Record<string, string | undefined>);
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    parent: Element | null;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    text(): string;
    text(value: string): Element;
    append(...children: (Element | string)[]): Element;
    remove(name: string | Element, xmlns?: string): Element;
    clone(): Element;
    toString(): string;
  }
  /** Streaming parser: emits 'element' for each complete top-level element after the root. */
  export class Parser {
    write(text: string): void;
    end(text?: string): void;
    on(event: 'element' | 'start', listener: (element: Element) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
  }
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: (Element | string | undefined)[]): Element;
  export default xml;
}
