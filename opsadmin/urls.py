app_name = "opsadmin"

urlpatterns: list = []
