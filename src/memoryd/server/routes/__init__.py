"""REST routes under ``/v1``.

``generated`` builds every route from the operation registry except the
``hand_route`` ones, which are in ``handwritten`` and ``system`` (beside the
daemon's own routes); ``deps`` holds what they share.
"""
