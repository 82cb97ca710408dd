"""What the customer receives: credit notes and invoice adjustments, their numbers and renderings."""
