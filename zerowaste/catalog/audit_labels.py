"""Names of the catalogs' audit actions, records and fields (collected by `core.audit_display`)."""

from __future__ import annotations

from zerowaste.core.audit_display import DATE, A, F, Record, by_field

from .models import CatalogEntry, CatalogVersion

ACTIONS = {
    "catalog.import": A("导入名录", "Import a catalog", values=True),
    "catalog.recode": A("修改代码对照", "Recode a catalog"),
    "catalog.entry_edit": A("修改名录条目", "Edit a catalog entry"),
    "catalog.publish": A("发布名录", "Publish a catalog", values=True),
}

RECORDS = {
    "catalog.catalogversion": Record(
        "名录版本", "Catalog version", identify=by_field(CatalogVersion, "label")
    ),
    "catalog.catalogentry": Record("名录条目", "Catalog entry", identify=by_field(CatalogEntry, "code")),
}

FIELDS = {
    "categories": F("类别数", "categories"),
    "replaced_draft": F("替换的草稿", "replaced draft"),
    "warnings": F("提示", "warnings"),
    "effective_from": F("生效日期", "effective from", DATE),
    "based_on": F("基于版本", "based on"),
    "diff": F("变化", "changes"),
    "recodes": F("代码对照", "recodes"),
    "category_id": F("类别", "category"),
    "added": F("新增", "added"),
    "removed": F("删除", "removed"),
    "renamed": F("更名", "renamed"),
    "recoded": F("改码", "recoded"),
    "retired": F("停用", "retired"),
    "recategorised": F("改类", "recategorised"),
}
