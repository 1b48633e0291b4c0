"""The storefront, on Django: service type "app".

uvicorn django_site.asgi:application
"""
