from ninja import NinjaAPI

api = NinjaAPI(title="bangfu API", version="1", urls_namespace="api")
