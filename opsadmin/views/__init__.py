"""The ops console's pages; each is mounted in RdkAdminSite.get_urls()."""
