// The department list: pick one, add one, rename one (guarded by its version, like events).
import { allDepartments, api, etag, failure, idempotencyKey } from "./api";
import type { Department } from "./api";
import { element, show } from "./elements";
import { STALE_MESSAGE } from "./event-writes";

export class DepartmentList {
  private readonly list = element("department-list", HTMLUListElement);
  private readonly form = element("department-form", HTMLFormElement);
  private readonly nameInput = element("department-name", HTMLInputElement);
  private readonly renameDialog = element("rename-dialog", HTMLDialogElement);
  private readonly renameForm = element("rename-form", HTMLFormElement);
  private readonly renameInput = element("rename-name", HTMLInputElement);
  private readonly renameMessage = element("rename-dialog-message", HTMLParagraphElement);
  private departments: Department[] = [];
  private selectedId: string | null = null;
  private renaming: Department | null = null;

  constructor(
    private readonly onSelect: (department: Department) => void,
    private readonly report: (text: string, isError: boolean) => void,
  ) {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.create();
    });
    this.renameForm.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.rename();
    });
    element("rename-cancel", HTMLButtonElement).addEventListener("click", () =>
      this.renameDialog.close(),
    );
  }

  get selected(): Department | null {
    return this.departments.find((d) => d.id === this.selectedId) ?? null;
  }

  async load(): Promise<Department[]> {
    const collator = new Intl.Collator("ko");
    this.departments = (await allDepartments()).sort((a, b) => collator.compare(a.name, b.name));
    this.render();
    return this.departments;
  }

  select(id: string): Department | null {
    const department = this.departments.find((d) => d.id === id) ?? null;
    if (department) {
      this.selectedId = id;
      this.render();
      this.onSelect(department);
    }
    return department;
  }

  private render(): void {
    this.list.replaceChildren(
      ...this.departments.map((department) => {
        const item = document.createElement("li");
        const pick = document.createElement("button");
        pick.type = "button";
        pick.className = "department";
        pick.textContent = department.name;
        pick.setAttribute("aria-pressed", String(department.id === this.selectedId));
        pick.addEventListener("click", () => this.select(department.id));
        const rename = document.createElement("button");
        rename.type = "button";
        rename.className = "rename";
        rename.textContent = "이름 바꾸기";
        rename.setAttribute("aria-label", `${department.name} 이름 바꾸기`);
        rename.addEventListener("click", () => this.openRename(department));
        item.append(pick, rename);
        return item;
      }),
    );
  }

  private async create(): Promise<void> {
    const name = this.nameInput.value.trim();
    if (!name) return;
    try {
      const { data, error, response } = await api.POST("/api/departments", {
        params: { header: { "Idempotency-Key": idempotencyKey() } },
        body: { name },
      });
      if (!data) {
        this.report(failure(response, error).message, true);
        return;
      }
      this.nameInput.value = "";
      this.report(`부서 '${data.name}'을(를) 만들었습니다.`, false);
      await this.load();
      this.select(data.id);
    } catch {
      this.report("서버에 닿지 못했습니다.", true);
    }
  }

  private openRename(department: Department): void {
    this.renaming = department;
    this.renameInput.value = department.name;
    show(this.renameMessage, "");
    this.renameDialog.showModal();
    this.renameInput.select();
  }

  private async rename(): Promise<void> {
    const department = this.renaming;
    const name = this.renameInput.value.trim();
    if (!department || !name) return;
    try {
      const { data, error, response } = await api.PATCH("/api/departments/{department_id}", {
        params: {
          path: { department_id: department.id },
          header: { "If-Match": etag(department.version) },
        },
        body: { name },
      });
      if (!data) {
        const current =
          typeof error === "object" && error !== null && "current_version" in error
            ? ` (현재 버전 ${String(error.current_version)})`
            : "";
        const text = response.status === 412 ? STALE_MESSAGE : failure(response, error).message;
        show(this.renameMessage, text + current);
        if (response.status === 412) {
          // The list now shows the current name and version: saving again is a deliberate choice.
          await this.load();
          this.renaming = this.departments.find((d) => d.id === department.id) ?? null;
        }
        return;
      }
      this.renameDialog.close();
      this.report(`부서 이름을 '${data.name}'(으)로 바꿨습니다.`, false);
      await this.load();
      if (this.selectedId === data.id) this.onSelect(data);
    } catch {
      show(this.renameMessage, "서버에 닿지 못했습니다.");
    }
  }
}
