from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog import receivers
        from catalog.models import Brand, Product
        from rdk.cachetags import tag_kind_register

        receivers.connect()

        def exists(model):
            return lambda ident: ident.isdigit() and model.objects.filter(pk=ident).exists()

        tag_kind_register("catalog")
        tag_kind_register("brand", exists(Brand))
        tag_kind_register("product", exists(Product))
