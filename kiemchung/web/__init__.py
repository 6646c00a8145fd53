"""The web application (application layer): server-rendered pages for councils, units and the province.

It sits on top of the services' read models and sends commands through the scoring service's
handlers, exactly like the bus does; services never import it.
"""
