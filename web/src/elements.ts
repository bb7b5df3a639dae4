// The page's fixed elements (index.html), found once; a missing one is a bug in the page.

export function element<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`#${id} is missing from the page`);
  return found;
}

export function show(target: HTMLElement, text: string): void {
  target.textContent = text;
}
