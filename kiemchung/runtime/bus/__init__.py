"""Buses that carry contract events between services: in-process and RabbitMQ."""
