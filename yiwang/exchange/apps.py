from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "yiwang.exchange"
    label = "exchange"
    verbose_name = "数据共享交换"
