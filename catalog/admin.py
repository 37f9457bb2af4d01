"""Staff admin for the catalog. Every save and delete here revalidates the
cache tags it touches through `catalog.receivers`."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, Exists, F, OuterRef, Sum
from django.utils.html import format_html
from django.utils.safestring import SafeString

from catalog.forms import SizeRunForm
from catalog.models import Brand, Product, ProductImage, Variant
from catalog.services import (
    pending_image_keep,
    pending_image_open,
    variant_sku,
    variants_add_size_run,
)
from rdk.audit import audit_changes, audit_record
from rdk.forms import MoneyField
from rdk.money import money_text


def _plain(value):
    """A form value as the audit log keeps it: related rows by primary key."""
    return getattr(value, "pk", value)


def _form_audit(*, request, form, change: bool, name: str, target: str) -> None:
    """Audit one saved admin form: the changed fields before and after, or the
    new row's values; a change to stock on hand is a stock adjustment."""
    fields = form.changed_data if change else list(form.cleaned_data)
    # Only the row's own fields: a form may carry others (the size run's).
    model_fields = {field.name for field in form._meta.model._meta.get_fields()}
    fields = [f for f in fields if f in form.cleaned_data and f in model_fields and f != "id"]
    if not fields:
        return
    before = {f: _plain(form.initial.get(f)) for f in fields} if change else {}
    after = {f: _plain(form.cleaned_data[f]) for f in fields}
    before, after = audit_changes(before, after)
    if not after:
        return
    action = f"{name}.{'change' if change else 'add'}"
    if change and "stock_on_hand" in after:
        action = "stock.adjust"
    audit_record(
        action=action, actor=f"staff:{request.user.pk}", target=target, before=before, after=after
    )


class AuditedAdmin(admin.ModelAdmin):
    """Every product, size and stock change made in the admin lands in the audit
    log with its before and after values (issue 10 §6)."""

    audit_name = ""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        _form_audit(
            request=request, form=form, change=change, name=self.audit_name, target=str(obj)
        )

    def delete_model(self, request, obj) -> None:
        target = str(obj)
        super().delete_model(request, obj)
        audit_record(
            action=f"{self.audit_name}.delete", actor=f"staff:{request.user.pk}", target=target
        )

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is not Variant:
            return
        for inline_form in formset.forms:
            if (
                inline_form.instance.pk
                and inline_form.has_changed()
                and inline_form not in formset.deleted_forms
            ):
                _form_audit(
                    request=request,
                    form=inline_form,
                    change=bool(inline_form.initial),
                    name="variant",
                    target=inline_form.instance.sku,
                )


class ProductAdminForm(SizeRunForm, forms.ModelForm):
    """The price is typed in currency units ("185.00") of the product's currency."""

    price_amount = MoneyField(
        label="Price", min_amount=1, help_text="In currency units, e.g. 185.00."
    )

    class Meta:
        model = Product
        fields = [
            "brand",
            "name",
            "slug",
            "colorway",
            "style_code",
            "description",
            "price_amount",
            "currency",
            "max_per_size",
            "release_date",
            "is_active",
            "is_featured",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        typed = str(self.data.get(self.add_prefix("currency"), "")).strip().upper()
        cast(MoneyField, self.fields["price_amount"]).currency = (
            typed or self.instance.currency or "USD"
        )


class VariantAdminForm(forms.ModelForm):
    """A size's price override, typed in units of its product's currency."""

    price_override_amount = MoneyField(
        label="Price override",
        required=False,
        min_amount=1,
        help_text="In currency units; empty to use the product's price.",
    )

    class Meta:
        model = Variant
        fields = [
            "product",
            "size_scheme",
            "size",
            "sku",
            "price_override_amount",
            "stock_on_hand",
        ]

    def __init__(self, *args, currency: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if currency is None and self.instance.product_id:
            currency = self.instance.product.currency
        if currency is None and "product" in self.fields:
            chosen = self.data.get(self.add_prefix("product"))
            currency = (
                Product.objects.filter(pk=str(chosen)).values_list("currency", flat=True).first()
                if str(chosen or "").isdigit()
                else None
            )
        cast(MoneyField, self.fields["price_override_amount"]).currency = currency or "USD"


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "product_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="Products", ordering="_product_count")
    def product_count(self, brand: Brand) -> int:
        return brand._product_count  # type: ignore[attr-defined]  # get_queryset annotates it


class VariantFormSet(forms.BaseInlineFormSet):
    """Sizes of a product; a size left without a SKU gets one from the
    product's style code and its size (`catalog.services.variant_sku`)."""

    def get_form_kwargs(self, index):
        # The product form has already read the currency typed with it.
        return {**super().get_form_kwargs(index), "currency": self.instance.currency or "USD"}

    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        form.fields["sku"].required = False
        form.fields["sku"].help_text = "Empty: made from the style code and size."

    def clean(self) -> None:
        super().clean()
        product = self.instance
        taken: dict[str, forms.BaseForm] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or data.get("size") is None:
                continue
            sku = data.get("sku") or variant_sku(
                style_code=product.style_code or "",
                slug=product.slug or "",
                size_scheme=data.get("size_scheme") or "US",
                size=data["size"],
            )
            others = Variant.objects.filter(sku=sku).exclude(pk=form.instance.pk)
            if sku in taken or others.exists():
                form.add_error("sku", f"SKU {sku} is already used; type another.")
                continue
            taken[sku] = form
            form.cleaned_data["sku"] = sku
            form.instance.sku = sku


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantAdminForm
    formset = VariantFormSet
    extra = 0
    fields = [
        "size_scheme",
        "size",
        "sku",
        "price_override_amount",
        "stock_on_hand",
        "stock_reserved",
    ]
    readonly_fields = ["stock_reserved"]
    ordering = ["size_scheme", "size"]


class KeptImageInput(forms.ClearableFileInput):
    """The file input, with a line saying so when an earlier upload is kept."""

    kept = False

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        html = super().render(name, value, attrs, renderer)
        if self.kept:
            html += format_html('<p class="help pending-image-note">{}</p>', KEPT_NOTE)
        return html


KEPT_NOTE = "Image kept from your last try; choose another file to change it."


class ProductImageForm(forms.ModelForm):
    """An image row that keeps its upload when the page comes back with an
    error elsewhere: the file waits in storage (`catalog.services.
    pending_image_keep`) and a signed token in a hidden field brings it back."""

    pending_image = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = ProductImage
        fields = ["image", "alt_text", "position"]
        widgets = {"image": KeptImageInput}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["image"].required = False

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        upload = data.get("image")
        token = data.get("pending_image")
        if isinstance(upload, UploadedFile):
            token = pending_image_keep(upload)
            self.data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict when bound
            self.data[self.add_prefix("pending_image")] = token  # type: ignore[index]
        elif not upload and token:
            kept = pending_image_open(token)
            if kept is None:
                self.add_error("image", "The image chosen before has expired; choose it again.")
            else:
                data["image"] = kept
        self.fields["image"].widget.kept = bool(token)
        if not data.get("image") and not data.get("DELETE") and self.has_changed():
            self.add_error("image", "Choose an image file.")
        return data


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 0
    fields = ["image", "alt_text", "position", "pending_image"]


class InStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [("in", "Some size available"), ("out", "Sold out")]

    def queryset(self, request, queryset):
        available = Variant.objects.filter(
            product=OuterRef("pk"), stock_on_hand__gt=F("stock_reserved")
        )
        if self.value() == "in":
            return queryset.filter(Exists(available))
        if self.value() == "out":
            return queryset.exclude(Exists(available))
        return queryset


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    form = ProductAdminForm
    audit_name = "product"
    list_display = [
        "name",
        "brand",
        "style_code",
        "price_display",
        "release_date",
        "stock_total",
        "is_active",
        "is_featured",
    ]
    list_filter = ["is_active", "is_featured", InStockFilter, "brand", "release_date"]
    list_editable = ["is_active", "is_featured"]
    list_select_related = ["brand"]
    search_fields = ["name", "slug", "colorway", "style_code", "brand__name", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "release_date"
    inlines = [VariantInline, ProductImageInline]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["brand", "name", "slug", "colorway", "style_code", "description"]}),
        ("Selling", {"fields": ["price_amount", "currency", "max_per_size", "release_date"]}),
        ("Visibility", {"fields": ["is_active", "is_featured"]}),
        (
            "Add a size run",
            {
                "fields": [
                    "run_scheme",
                    ("run_from", "run_to", "run_step"),
                    "run_stock",
                    "run_stock_by_size",
                ],
                "description": "Adds every size in the range at once, each with its "
                "SKU made from the style code and size. Sizes the pair already has "
                "are left as they are.",
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        run = form.size_run()
        if run is not None:
            added = variants_add_size_run(product=form.instance, **run)
            if added:
                self.message_user(request, f"Added {len(added)} size(s) with generated SKUs.")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_stock=Sum(F("variants__stock_on_hand") - F("variants__stock_reserved")))
        )

    @admin.display(description="Price", ordering="price_amount")
    def price_display(self, product: Product) -> str:
        return money_text(product.price_amount, product.currency, symbol=False)

    @admin.display(description="Available pairs", ordering="_stock")
    def stock_total(self, product: Product) -> int:
        return product._stock or 0  # type: ignore[attr-defined]  # get_queryset annotates it


@admin.register(Variant)
class VariantAdmin(AuditedAdmin):
    form = VariantAdminForm
    audit_name = "variant"
    list_display = [
        "sku",
        "product",
        "size_label",
        "price_display",
        "stock_on_hand",
        "stock_reserved",
    ]
    list_editable = ["stock_on_hand"]
    list_filter = ["size_scheme", "product__brand"]
    list_select_related = ["product"]
    search_fields = ["sku", "product__name", "product__style_code"]
    readonly_fields = ["stock_reserved"]
    autocomplete_fields = ["product"]

    @admin.display(description="Price")
    def price_display(self, variant: Variant) -> str:
        return money_text(variant.price_amount, variant.product.currency, symbol=False)


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = ["alt_text", "product", "position"]
    list_select_related = ["product"]
    search_fields = ["alt_text", "product__name"]
    autocomplete_fields = ["product"]
